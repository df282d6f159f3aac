"""The site owner's dashboard on the edge: the page, its login, and read-only share links."""
