// The pgx examples of docs/app-guide.md, run by tests/behaviour/test_app_guide.py: each
// function here is quoted in the guide as it stands. Reads APP_URL (a login of
// ironarchive_app), TENANT_ID, MAILBOX_ID and OTHER_MAILBOX_ID (a mailbox of another
// tenant); prints one line per example, "name: result".
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

type Email struct {
	ID      string
	Subject *string
	SentAt  time.Time
}

// guide: listing
func mailboxListing(ctx context.Context, conn *pgx.Conn, tenantID, mailboxID string) ([]Email, error) {
	var emails []Email
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// The tenant, as a parameter, for this transaction only.
		if _, err := tx.Exec(ctx, "SELECT set_tenant($1)", tenantID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			SELECT id, subject, sent_at FROM emails
			WHERE mailbox_id = $1 AND deleted_at IS NULL
			ORDER BY sent_at DESC LIMIT 50`, mailboxID)
		if err != nil {
			return err
		}
		emails, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Email])
		return err
	})
	return emails, err
}

// guide: end listing

// guide: rename
// renameMailbox reports false when the mailbox is not the tenant's: another tenant's
// mailbox and a missing one look the same (0 rows), and the API answers 404 for both.
func renameMailbox(ctx context.Context, conn *pgx.Conn, tenantID, mailboxID, name string) (bool, error) {
	var renamed bool
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT set_tenant($1)", tenantID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, "UPDATE mailboxes SET display_name = $1 WHERE id = $2",
			name, mailboxID)
		renamed = tag.RowsAffected() == 1
		return err
	})
	return renamed, err
}

// guide: end rename

// guide: sqlstate
// archiveEmail stores one e-mail; a mailbox that is not the tenant's is 23503.
func archiveEmail(ctx context.Context, conn *pgx.Conn, tenantID, mailboxID, messageID string) error {
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT set_tenant($1)", tenantID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `
			INSERT INTO emails (mailbox_id, message_id, sent_at, size_bytes, file_path)
			VALUES ($1, $2, now(), 0, $3)
			ON CONFLICT (tenant_id, message_id) DO NOTHING`,
			mailboxID, messageID, "/data/"+messageID+".json")
		return err
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" {
		return fmt.Errorf("mailbox %s not found: %w", mailboxID, err)
	}
	return err
}

// guide: end sqlstate

func main() {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, os.Getenv("APP_URL"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
	defer conn.Close(ctx)
	tenant, mailbox, other := os.Getenv("TENANT_ID"), os.Getenv("MAILBOX_ID"), os.Getenv("OTHER_MAILBOX_ID")

	emails, err := mailboxListing(ctx, conn, tenant, mailbox)
	fmt.Printf("listing: %d %v\n", len(emails), err)
	emails, err = mailboxListing(ctx, conn, tenant, other)
	fmt.Printf("listing another tenant's mailbox: %d %v\n", len(emails), err)
	renamed, err := renameMailbox(ctx, conn, tenant, mailbox, "Renamed")
	fmt.Printf("rename: %v %v\n", renamed, err)
	renamed, err = renameMailbox(ctx, conn, tenant, other, "Renamed")
	fmt.Printf("rename another tenant's mailbox: %v %v\n", renamed, err)
	fmt.Printf("archive: %v\n", archiveEmail(ctx, conn, tenant, mailbox, "AAMk-pgx-1"))
	fmt.Printf("archive again: %v\n", archiveEmail(ctx, conn, tenant, mailbox, "AAMk-pgx-1"))
	fmt.Printf("archive into another tenant's mailbox: %v\n",
		archiveEmail(ctx, conn, tenant, other, "AAMk-pgx-2"))
}
