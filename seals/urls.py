from __future__ import annotations

from django.urls import path

from seals import views

urlpatterns = [
    path("", views.seal_list, name="seals-index"),
    path("verify/", views.verify_page, name="seals-verify"),
    path("ca.pem", views.ca_pem, name="seals-ca-pem"),
    path("crl.pem", views.crl_pem, name="seals-crl-pem"),
    path("<int:seal_id>/usage/", views.seal_usage, name="seals-usage"),
    *[
        path(f"<int:seal_id>/{verb}/", views.seal_transition, {"verb": verb}, name=f"seals-{verb}")
        for verb in ("activate", "suspend", "resume", "revoke")
    ],
    path("records/<int:record_id>/", views.record_page, name="seals-record"),
    path("records/<int:record_id>/package.zip", views.record_package, name="seals-record-package"),
]
