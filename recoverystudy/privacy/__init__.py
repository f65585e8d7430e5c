"""Privacy: redaction of identifiers, keyed pseudonyms and small-number disclosure control."""
