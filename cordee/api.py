"""The JSON API (Django Ninja), mounted at ``/api/``; its OpenAPI schema is at ``/api/openapi.json``
and its documentation at ``/api/docs`` (Swagger UI served from Cordée itself, no CDN).

Authentication is the browser's session (the same sign-in, second factor and idle timeout as the
pages, enforced by the middleware); unsafe methods need the CSRF token in ``X-CSRFToken``. Calls are
limited per user (``API_RATE_LIMITS``, answered 429 with ``Retry-After``). Each app adds its router here.
"""

from __future__ import annotations

from ninja import NinjaAPI
from ninja.security import SessionAuth

from cordee.documents.api import router as documents_router
from cordee.drugs.api import router as drugs_router
from cordee.expertise.api import router as expertise_router
from cordee.imaging.api import router as imaging_router
from cordee.lib.api import StrictJSONParser, install_error_handlers
from cordee.lib.ratelimit import UserRateThrottle
from cordee.library.api import router as library_router
from cordee.messaging.api import router as messaging_router
from cordee.prescriptions.api import router as prescriptions_router
from cordee.referrals.api import router as referrals_router

api = NinjaAPI(
    title="Cordée API",
    version="1",
    description="The JSON API of Cordée. Session authentication; CSRF token required on unsafe methods.",
    auth=SessionAuth(csrf=True),
    urls_namespace="api",
    docs_url="/docs",
    throttle=[UserRateThrottle()],  # per user, every instance counting together (API_RATE_LIMITS)
    parser=StrictJSONParser(),  # text that is not valid Unicode is refused at the edge
)
install_error_handlers(api)  # every error in one shape (cordee/lib/api.py)
api.add_router("/messaging/", messaging_router)
api.add_router("/drugs/", drugs_router)
api.add_router("/record/", documents_router)
api.add_router("/referrals/", referrals_router)
api.add_router("/expertise/", expertise_router)
api.add_router("/library/", library_router)
api.add_router("/imaging/", imaging_router)
api.add_router("/prescriptions/", prescriptions_router)
