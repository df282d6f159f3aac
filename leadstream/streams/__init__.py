"""The worker: Faust app, topics, agents and the warehouse sink."""
