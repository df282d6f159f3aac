"""The site registry: sites from their compacted topic, in every edge and worker."""
