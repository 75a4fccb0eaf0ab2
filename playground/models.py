"""Shared scenarios: the rows behind permalinks, so that a link never breaks."""

from __future__ import annotations

from django.db import models


class SharedScenario(models.Model):
    """A scenario as given (JSON), under the first 16 hex digits of its digest.

    The source is kept as written rather than the resolved spec, so a link keeps meaning
    "this input" even when a later simcore resolves defaults differently.
    """

    slug = models.CharField(max_length=16, primary_key=True)
    source = models.JSONField()
    created = models.DateTimeField(auto_now_add=True)
    # the permalink this one was first made from by an edit, a button or "compare with…"
    parent = models.CharField(max_length=16, blank=True, default="")

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.slug
