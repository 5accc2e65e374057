"""An OpenAPI 3.1 description of /api/v2, served at /api/v2/openapi.json.

API v2 multiplexes every action over one URL, so the description has one operation
per method whose request fields are the union of the actions' fields and whose
answer is any of the actions' answers or an error.
"""

from django.conf import settings

ACTION_NAMES = ["services", "add", "status", "refill", "refill_status", "cancel", "balance"]
ORDER_STATUSES = ["Pending", "In progress", "Processing", "Completed", "Partial", "Canceled"]
REFILL_STATUSES = ["Pending", "In progress", "Completed", "Rejected"]

_TEXT = {"type": "string", "maxLength": 2000}
FIELDS = {
    "key": {"type": "string", "maxLength": 128, "description": "Your API key."},
    "action": {"type": "string", "enum": ACTION_NAMES},
    "service": {"type": "integer", "description": "add: the service id."},
    "link": {**_TEXT, "description": "add: the link to deliver to."},
    "quantity": {"type": "integer", "description": "add: quantity (per run for drip-feed)."},
    "runs": {"type": "integer", "description": "add (drip-feed): number of runs."},
    "interval": {
        "type": "integer",
        "minimum": 0,
        "description": "add (drip-feed): minutes between runs (0: back to back).",
    },
    "comments": {**_TEXT, "description": "add (Custom Comments): one comment per line."},
    "username": {**_TEXT, "description": "add (Subscriptions)."},
    "min": {"type": "integer", "description": "add (Subscriptions)."},
    "max": {"type": "integer", "description": "add (Subscriptions)."},
    "posts": {"type": "integer", "description": "add (Subscriptions)."},
    "old_posts": {"type": "integer", "description": "add (Subscriptions)."},
    "delay": {"type": "integer", "description": "add (Subscriptions): minutes."},
    "expiry": {"type": "string", "maxLength": 10, "description": "add (Subscriptions): d/m/Y."},
    "order": {"type": "integer", "description": "status, refill: one order id."},
    "orders": {"type": "string", "maxLength": 1200, "description": "Comma-separated ids (≤100)."},
    "refill": {"type": "integer", "description": "refill_status: one refill id."},
    "refills": {"type": "string", "maxLength": 1200, "description": "Comma-separated ids."},
}

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}},
    "additionalProperties": False,
}
_MONEY = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}
_COUNT = {"type": "string", "pattern": r"^-?\d+$"}
# An id in a multi call's list answer: the integer, or a malformed one as it was sent (its
# entry then carries the id's error, like multi status).
_MULTI_ID = {"anyOf": [{"type": "integer"}, {"type": "string"}]}
_ORDER_STATUS = {
    "type": "object",
    "required": ["charge", "start_count", "status", "remains", "currency"],
    "properties": {
        "charge": _MONEY,
        "start_count": _COUNT,
        "status": {"type": "string", "enum": ORDER_STATUSES},
        "remains": _COUNT,
        "currency": {"type": "string", "const": "USD"},
        # A drip-feed parent (R-ORD-10): its runs and its portions' order ids.
        "runs": _COUNT,
        "orders": {"type": "array", "items": {"type": "integer"}},
        # A subscription (R-ORD-11): posts done so far and the expiry date (d/m/Y).
        "posts": _COUNT,
        "expiry": {"type": "string"},
    },
}
ANSWERS = {
    "Error": _ERROR,
    "Services": {
        "type": "array",
        "items": {
            "type": "object",
            "required": [
                "service",
                "name",
                "type",
                "category",
                "rate",
                "min",
                "max",
                "refill",
                "cancel",
                "dripfeed",
            ],
            "properties": {
                "service": {"type": "integer"},
                "name": {"type": "string"},
                "type": {"type": "string"},
                "category": {"type": "string"},
                "rate": _MONEY,
                "min": _COUNT,
                "max": _COUNT,
                "refill": {"type": "boolean"},
                "cancel": {"type": "boolean"},
                "dripfeed": {"type": "boolean"},
            },
        },
    },
    "Added": {
        "type": "object",
        "required": ["order"],
        "properties": {"order": {"type": "integer"}},
        "additionalProperties": False,
    },
    "Status": _ORDER_STATUS,
    "MultiStatus": {
        "type": "object",
        "additionalProperties": {"anyOf": [_ORDER_STATUS, _ERROR]},
    },
    "Refill": {
        "type": "object",
        "required": ["refill"],
        "properties": {"refill": {"type": "string"}},
        "additionalProperties": False,
    },
    "MultiRefill": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["order", "refill"],
            "properties": {
                "order": _MULTI_ID,
                "refill": {"anyOf": [{"type": "integer"}, _ERROR]},
            },
        },
    },
    "RefillStatus": {
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"type": "string", "enum": REFILL_STATUSES}},
        "additionalProperties": False,
    },
    "MultiRefillStatus": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["refill", "status"],
            "properties": {
                "refill": _MULTI_ID,
                "status": {"anyOf": [{"type": "string", "enum": REFILL_STATUSES}, _ERROR]},
            },
        },
    },
    "Cancel": {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["order", "cancel"],
            "properties": {
                "order": _MULTI_ID,
                "cancel": {"anyOf": [{"const": 1}, _ERROR]},
            },
        },
    },
    "Balance": {
        "type": "object",
        "required": ["balance", "currency"],
        "properties": {"balance": _MONEY, "currency": {"type": "string", "const": "USD"}},
        "additionalProperties": False,
    },
}


def _response(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def openapi_document(*, server_url: str) -> dict:
    request_schema = {
        "type": "object",
        "required": ["key", "action"],
        "properties": FIELDS,
    }
    responses = {
        "200": _response(
            "The action's answer, or {\"error\": ...} in the contract's wording.",
            {"anyOf": [{"$ref": f"#/components/schemas/{name}"} for name in ANSWERS]},
        ),
        "429": _response("Too many requests (R-KEY-4).", {"$ref": "#/components/schemas/Error"}),
    }
    query_parameters = [
        {"name": name, "in": "query", "required": name in ("key", "action"), "schema": schema}
        for name, schema in FIELDS.items()
    ]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{settings.SITE_NAME} API v2",
            "version": "2",
            "description": "The standard SMM panel API. Every answer is JSON; "
            'a failure is HTTP 200 with {"error": message}.',
        },
        "servers": [{"url": server_url}],
        "paths": {
            "/api/v2": {
                "post": {
                    "operationId": "call",
                    "summary": "Call an action (form-encoded or JSON body)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/x-www-form-urlencoded": {"schema": request_schema},
                            "application/json": {"schema": request_schema},
                        },
                    },
                    "responses": responses,
                },
                "get": {
                    "operationId": "callByQuery",
                    "summary": "Call an action with a query string",
                    "parameters": query_parameters,
                    "responses": responses,
                },
            }
        },
        "components": {"schemas": ANSWERS},
    }
