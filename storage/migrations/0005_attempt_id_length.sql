-- Attempt ids are at most 128 bytes (hookstream's own are "da_" + 32 hex).
--
-- A keyset cursor carries its anchor row's id, and keeps at most 128 bytes of
-- it: a longer id would be cut, and a walk would then skip or repeat rows that
-- share the anchor's timestamp. The filters on ids already take at most 128
-- bytes. NOT VALID first, then VALIDATE: the scan of existing rows takes only a
-- SHARE UPDATE EXCLUSIVE lock, so readers and writers go on meanwhile.
ALTER TABLE delivery_attempts
  ADD CONSTRAINT delivery_attempts_id_length CHECK (octet_length(id) <= 128) NOT VALID;
ALTER TABLE delivery_attempts VALIDATE CONSTRAINT delivery_attempts_id_length;
