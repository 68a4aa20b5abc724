def error_code(response) -> str:
    """The stable code of an error response, after checking the one error shape."""
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]["code"]
