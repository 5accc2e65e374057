"""The panel's API v2 as a server (../shared/spec/API_V2.md)."""
