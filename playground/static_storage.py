"""Collected static files: hashed, compressed, and our ES modules' imports rewritten.

`static/js/` is native ES modules (no build step): `player.js` does
`import { el } from "./lib/dom.js";`. Once collected, every file has a hashed name
(`lib/dom.1a2b3c4d5e6f.js`, served as immutable), so a module importing the unhashed name
would load a second, uncached copy, or none where only the hashed files are kept. Django's
`support_js_module_import_aggregation` (Django ≥ 4.2, `HashedFilesMixin`) rewrites `import`
and `export … from` specifiers to the hashed names, and a module's own hash then covers the
hashes of what it imports.

Django applies those patterns to every `*.js` file; here they are limited to our own modules
under `js/`: the vendored minified bundles (plotly.js, htmx) are classic scripts that must be
copied byte for byte, not searched for things that look like imports. Django's patterns only
rewrite specifiers that end with `;` (write `import … from "./x.js";`).
"""

from __future__ import annotations

from django.contrib.staticfiles.storage import HashedFilesMixin
from whitenoise.storage import CompressedManifestStaticFilesStorage  # type: ignore[import-untyped]

# Django's own import/export patterns (the stubs omit this private attribute: the test
# tests/web/test_collected_static.py sees an upgrade that changes it), keyed by a glob that
# matches our modules alone (fnmatch's `*` crosses `/`: js/lib/dom.js matches, vendor/… and
# django_htmx/… do not).
_, _IMPORT_PATTERNS = HashedFilesMixin._js_module_import_aggregation_patterns  # type: ignore[attr-defined]
MODULES_GLOB = "js/*.js"


class ModuleManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):  # type: ignore[misc]
    support_js_module_import_aggregation = True
    _js_module_import_aggregation_patterns = (MODULES_GLOB, _IMPORT_PATTERNS)
