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


class Room(models.Model):
    """A workshop room (playground.rooms): what the instructor shows, stored so that a
    server restart does not lose a running class. Only `host_key` (the SHA-256 of the
    instructor's token) is kept, never the token."""

    code = models.CharField(max_length=8, primary_key=True)
    host_key = models.CharField(max_length=64)
    course = models.CharField(max_length=64, blank=True, default="")  # "" : one scenario
    position = models.PositiveIntegerField(default=0)  # in the course's order
    slug = models.CharField(max_length=16)  # the permalink on the stage
    step = models.IntegerField(default=0)  # -1: not known yet, open at `at_ms`
    at_ms = models.PositiveIntegerField(default=0)
    playing = models.BooleanField(default=False)
    speed = models.CharField(max_length=4, default="5")
    question = models.CharField(max_length=64, blank=True, default="")  # the open question
    poll = models.PositiveIntegerField(default=0)  # one more each time a question opens
    revealed = models.BooleanField(default=False)
    reveal = models.JSONField(null=True, blank=True)  # the histogram, frozen at the reveal
    version = models.PositiveIntegerField(default=0)  # one more per change
    created = models.DateTimeField(auto_now_add=True)
    active = models.DateTimeField()  # the last instructor action or answer

    def __str__(self) -> str:
        return self.code


class RoomParticipant(models.Model):
    """Someone who joined a room, known by the SHA-256 of the key their browser keeps."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="participants")
    key = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=40, blank=True, default="")
    joined = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.room_id}: {self.name or 'anonymous'}"


class RoomAnswer(models.Model):
    """One participant's answer to one opening of a question (`poll`): at most one each."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="answers")
    poll = models.PositiveIntegerField()
    participant = models.ForeignKey(RoomParticipant, on_delete=models.CASCADE)
    value = models.CharField(max_length=40)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["room", "poll", "participant"], name="one_answer_per_poll"
            )
        ]

    def __str__(self) -> str:
        return f"{self.room_id} #{self.poll}: {self.value}"


class CustomCourse(models.Model):
    """A course an instructor made from permalinks (playground.custom_courses), under the
    first 16 hex digits of its content's SHA-256, like a permalink: the same list always
    gets the same link, and a link's course never changes."""

    slug = models.CharField(max_length=16, primary_key=True)
    source = models.JSONField()  # {"title", "description", "chapters": [{"title", "items"}]}
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.slug
