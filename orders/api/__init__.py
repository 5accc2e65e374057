"""The panel's API v2 as a server (docs/spec/API_V2.md)."""
