"""Pure core: model, ksysmgr parsing and command building, lifecycle rules. No I/O here."""
