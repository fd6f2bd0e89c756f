"""The console as a client of the database the provider service writes:
it reads snapshots, alerts and the queue from there, never from a node."""
