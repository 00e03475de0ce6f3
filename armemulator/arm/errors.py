"""ARM error bodies."""


class ArmError(Exception):
    """An error the emulator answers with: status, ARM error code and message, extra headers."""

    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def body(self):
        return {"error": {"code": self.code, "message": self.message}}


def not_found(resource_type, name, resource_group):
    return ArmError(
        404,
        "ResourceNotFound",
        f"The Resource '{resource_type}/{name}' under resource group '{resource_group}' was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )
