"""The walking network: graph building, attaching points, and shortest-path passes."""
