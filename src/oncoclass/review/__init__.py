"""The curation workspace: team members (:mod:`.users`) and the review queue (:mod:`.queue`), kept
in the evidence store's database so a team shares one queue, on SQLite or PostgreSQL."""
