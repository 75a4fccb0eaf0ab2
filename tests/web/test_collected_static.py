"""The `make run` / Dockerfile path: collectstatic into hashed, compressed files."""

from pathlib import Path

from django.core.management import call_command
from django.templatetags.static import static
from django.test import override_settings

COLLECTED = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}


def test_collectstatic_gives_every_asset_a_hashed_compressed_copy(tmp_path: Path) -> None:
    with override_settings(STATIC_ROOT=tmp_path, STORAGES=COLLECTED):
        call_command("collectstatic", interactive=False, verbosity=0)
        urls = [
            static(name)
            for name in (
                "vendor/plotly-basic.min.js",
                "js/player.js",
                "css/playground.css",
                "django_htmx/htmx-2.min.js",
            )
        ]
    for url in urls:
        hashed = tmp_path / url.removeprefix("/static/")
        assert hashed.name.count(".") >= 2  # name.<hash>.ext
        assert hashed.exists()
        assert hashed.with_name(hashed.name + ".gz").exists()
