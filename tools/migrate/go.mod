// Pins the golang-migrate CLI that applies this project's migrations.
// Built from the Go module proxy by `make migrate-bin` (src/ironarchive_schema/go_tools.py,
// go build -tags postgres) into .tools/bin/.
module ironarchive/tools/migrate

go 1.25.11

tool github.com/golang-migrate/migrate/v4/cmd/migrate

require (
	github.com/golang-migrate/migrate/v4 v4.20.1 // indirect
	github.com/lib/pq v1.10.9 // indirect
)
