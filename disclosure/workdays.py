"""Working days (工作日) for statutory deadlines.

《中华人民共和国政府信息公开条例》 第三十三条: an organisation answers a 依申请公开 request
within 20 working days of receiving it; with the approval of the responsible person it
may extend that once, by at most 20 working days, telling the applicant. A working day is
Monday to Friday, except the public holidays of the State Council's yearly notice, plus
the weekend days that notice makes working days (调休上班). Both lists come from
settings (``OFFICEHUB_HOLIDAYS``, ``OFFICEHUB_MAKEUP_WORKDAYS``), read per call.

Counting starts the day after the start date (the day of receipt is day 0), so a request
registered on a Monday with no holidays around is due on the Monday four weeks later.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final

from django.conf import settings

REPLY_WORKING_DAYS: Final = 20  # 条例 第三十三条第二款
EXTENSION_WORKING_DAYS: Final = 20


@dataclass(frozen=True)
class WorkCalendar:
    holidays: frozenset[date] = field(default_factory=frozenset)
    makeup_workdays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def of(cls, holidays: Iterable[date] = (), makeup_workdays: Iterable[date] = ()) -> WorkCalendar:
        return cls(frozenset(holidays), frozenset(makeup_workdays))

    def is_working_day(self, day: date) -> bool:
        if day in self.makeup_workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add(self, start: date, working_days: int) -> date:
        """The ``working_days``-th working day after ``start`` (``start`` itself not counted)."""
        if working_days < 0:
            raise ValueError("working_days must not be negative")
        day = start
        remaining = working_days
        while remaining:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end``; negative when ``end``
        is before ``start`` (the working days by which a deadline has passed)."""
        if end < start:
            return -self.between(end, start)
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count


def calendar() -> WorkCalendar:
    """The deployment's calendar (settings.HOLIDAYS, settings.MAKEUP_WORKDAYS)."""
    return WorkCalendar.of(settings.HOLIDAYS, settings.MAKEUP_WORKDAYS)
