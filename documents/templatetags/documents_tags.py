from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def elapsed(seconds: int) -> str:
    """Elapsed time the Chinese way: 2天3小时 / 5小时12分 / 8分钟."""
    seconds = int(seconds or 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}天{hours}小时"
    if hours:
        return f"{hours}小时{minutes}分"
    return f"{minutes}分钟" if minutes else "不足1分钟"


@register.filter
def cn_date(value: object) -> str:
    """2026年1月5日 (no zero padding)."""
    if not value:
        return "—"
    return f"{value.year}年{value.month}月{value.day}日"  # type: ignore[attr-defined]
