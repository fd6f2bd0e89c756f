"""ksysmgr: the command's grammar, its output layouts, parsers and command builders."""
