"""R-LEG-1: Postgres refuses to change the text, dates or number of a published version.

A change is a new version (``document_draft_publish``); the admin already shows published
versions read-only, and this trigger makes it true for every other path as well.
"""

from django.db import migrations

from billing.db import RunSQLOn

FORWARD = """
CREATE FUNCTION legal_document_published_frozen() RETURNS trigger AS $$
BEGIN
    IF OLD.version IS NOT NULL AND (
        NEW.kind, NEW.version, NEW.title, NEW.body, NEW.effective_at, NEW.material,
        NEW.published_at
    ) IS DISTINCT FROM (
        OLD.kind, OLD.version, OLD.title, OLD.body, OLD.effective_at, OLD.material,
        OLD.published_at
    ) THEN
        RAISE EXCEPTION 'legal document % v% is published: write a new version', OLD.kind,
            OLD.version USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER legal_document_published_frozen BEFORE UPDATE ON legal_document
    FOR EACH ROW EXECUTE FUNCTION legal_document_published_frozen();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS legal_document_published_frozen ON legal_document;
DROP FUNCTION IF EXISTS legal_document_published_frozen();
"""


class Migration(migrations.Migration):
    dependencies = [("legal", "0005_privacy_exports_and_requests")]

    operations = [RunSQLOn("postgresql", FORWARD, BACKWARD)]
