-- Emails are stored in one normalized form (NFKC + case fold, server/auth/email.ts) and
-- compared exactly: lower() in SQL and toLowerCase() in JavaScript disagree on some
-- letters, so the database no longer folds case itself.
-- ASCII-only addresses are lower-cased here (both engines agree on ASCII, and the old
-- unique index on lower(email) guarantees no two collide); the others are normalized
-- by the server at start-up with the same function it uses for every sign-in
-- (normalizeStoredEmails in server/auth/queries.ts).
drop index users_email_key;
update users set email = lower(email) where email ~ '^[\x01-\x7f]*$' and email <> lower(email);
create unique index users_email_key on users (email);
