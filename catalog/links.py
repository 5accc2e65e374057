"""Link rules: what a service accepts as the order's link (R-CAT-1, R-ORD-3)."""

import re

from django.db import models

MAX_LINK_LENGTH = 2048


class LinkRule(models.TextChoices):
    URL = "url", "Any web address"
    INSTAGRAM = "instagram", "Instagram link"
    TIKTOK = "tiktok", "TikTok link"
    YOUTUBE = "youtube", "YouTube link"
    TELEGRAM = "telegram", "Telegram link"
    X = "x", "X (Twitter) link"
    FACEBOOK = "facebook", "Facebook link"
    USERNAME = "username", "Username"
    CUSTOM = "custom", "Custom pattern"


_PATH = r"(?:[/?#][^\s]*)?"
PATTERNS: dict[str, re.Pattern] = {
    LinkRule.URL: re.compile(r"https?://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?::\d{1,5})?" + _PATH),
    LinkRule.INSTAGRAM: re.compile(r"https?://(?:www\.)?(?:instagram\.com|instagr\.am)/\S+"),
    LinkRule.TIKTOK: re.compile(r"https?://(?:(?:www|m|vm|vt)\.)?tiktok\.com/\S+"),
    LinkRule.YOUTUBE: re.compile(r"https?://(?:(?:www|m|music)\.)?(?:youtube\.com|youtu\.be)/\S+"),
    LinkRule.TELEGRAM: re.compile(r"https?://(?:t\.me|telegram\.me)/\S+"),
    LinkRule.X: re.compile(r"https?://(?:(?:www|mobile)\.)?(?:x\.com|twitter\.com)/\S+"),
    LinkRule.FACEBOOK: re.compile(
        r"https?://(?:(?:www|m|web)\.)?(?:facebook\.com|fb\.com|fb\.watch)/\S+"
    ),
    LinkRule.USERNAME: re.compile(r"@?[A-Za-z0-9._]{1,64}"),
}

EXAMPLES = {
    LinkRule.URL: "https://example.com/page",
    LinkRule.INSTAGRAM: "https://www.instagram.com/username/",
    LinkRule.TIKTOK: "https://www.tiktok.com/@username/video/123",
    LinkRule.YOUTUBE: "https://www.youtube.com/watch?v=abc",
    LinkRule.TELEGRAM: "https://t.me/channel",
    LinkRule.X: "https://x.com/username/status/123",
    LinkRule.FACEBOOK: "https://www.facebook.com/page",
    LinkRule.USERNAME: "username",
}


def link_matches(*, rule: str, pattern: str, link: str) -> bool:
    """Whether ``link`` (already stripped) fits ``rule`` (or ``pattern`` for the Custom rule)."""
    if not link or len(link) > MAX_LINK_LENGTH or any(ch.isspace() for ch in link):
        return False
    if rule == LinkRule.CUSTOM:
        try:
            return re.fullmatch(pattern, link) is not None
        except re.error:
            return False
    compiled = PATTERNS.get(rule)
    return compiled is not None and compiled.fullmatch(link) is not None
