# tests/vcard fragment (placeholder)
