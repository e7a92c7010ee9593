-- Documents beside images (issue 16): PDF, DOCX and text files can be stored, and the
-- text read from them once at upload is kept with the file, so a reply never reads a
-- document again. `text_status`: ready (text kept), failed (the reason in text_error),
-- none (nothing could be read, e.g. a scanned PDF without OCR configured; the reason
-- in text_error); null for images.
alter table files drop constraint files_mime_check;
alter table files add constraint files_mime_check check (mime in (
  'image/png', 'image/jpeg', 'image/webp', 'image/gif',
  'application/pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'text/plain', 'text/markdown', 'text/csv'));
alter table files
  add column text_status text check (text_status in ('ready', 'failed', 'none')),
  add column text text,
  add column text_error text check (length(text_error) <= 500),
  add column pages int check (pages >= 0);
