"""The schema contract (``contract/schema.yaml``): loading it, and comparing it with the catalog.

People write and review the contract; nothing generates it into place. ``load.load`` reads it
into plain nested dicts with every fact filled in (the defaults the file may leave out
included), and ``from_catalog.from_catalog`` turns a catalog snapshot into the very same shape. All
comparisons work on those two trees, in memory:

- ``checks.declared(contract)``: one check per declared object (``emails.sent_at``,
  ``fk:attachments.email_id``, ``index:idx_emails_sent_at``, ...): it exists, as stated;
- ``checks.both_ways(contract)``: one check per kind of object (per table where it belongs to
  one): nothing Missing, nothing Extra;
- ``from_catalog.unstated(snapshot)``: what the catalog holds that the contract has no words for
  (views, sequences, disabled triggers, ...), which must therefore not exist;
- ``diff.report(want, have, unstated)``: the difference in the contract's own YAML, for
  ``make schema-diff``.
"""
