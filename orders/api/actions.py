"""The API v2 actions: each takes the account and the request's fields and returns
the answer's payload, or raises ``ApiError`` with the contract's wording."""

ACTIONS: dict = {}
