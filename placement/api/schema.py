"""What the operations of the parent's own API (`/api/v1/me/`) share in the schema: the `me` tag, the refusals
every one of them answers before it reads anything, and the shape of an action on one of the parent's things;
declared once for `me`, `claims`, `offers` and `notifications`."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view

from indigo.api import refused

UNAUTHORISED = {
    401: refused("No credentials."),
    403: refused("Not a parent (staff and admins have no cabinet)."),
}
NO_SUCH_APPLICATION = refused("No such application among yours.")


def me_schema(operation_id: str, *, responses: dict, **schema):
    """`extend_schema` for an operation of `/api/v1/me/`: tagged `me`, answering `UNAUTHORISED`'s 401 and 403 besides
    its own `responses` (an operation that documents its own 403, the refusals of its rule, keeps it)."""
    responses = responses | {status: answer for status, answer in UNAUTHORISED.items() if status not in responses}
    return extend_schema(operation_id=operation_id, tags=["me"], responses=responses, **schema)


def me_action_schema(
    operation_id: str,
    parameter: OpenApiParameter,
    *,
    not_found: OpenApiResponse,
    conflict: str,
    forbidden: str | None = None,
):
    """The schema of a view's `post` that acts on one of the parent's things, named by `parameter` in the path, with
    no body: it answers the thing as the view's serializer shows it after the action, `not_found` (404) when it is
    not one of theirs, a 409 when its state refuses the action (`conflict` says with which reasons), and a 403 of
    its own rule besides "not a parent" when `forbidden` names its reason."""

    def decorate(view):
        responses = {200: view.serializer_class, 404: not_found, 409: refused(conflict)}
        if forbidden:
            responses[403] = refused(f"Not a parent, or reason {forbidden}.")
        post = me_schema(operation_id, request=None, parameters=[parameter], responses=responses)
        return extend_schema_view(post=post)(view)

    return decorate
