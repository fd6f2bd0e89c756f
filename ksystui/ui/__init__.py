"""The Textual control room (screens, widgets, themes). Reads fleet snapshots, submits to the arbiter."""
