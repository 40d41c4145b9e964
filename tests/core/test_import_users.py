"""CSV onboarding: every bad row is reported with its line number, and nothing is imported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from officehub.directory.models import User

pytestmark = pytest.mark.django_db

HEADER = "username,full_name,department,position,roles,clearance,phone,password\n"
GOOD = "zhangsan,张三,浙江省人民政府/浙江省人民政府办公厅/秘书处,科员,拟稿人,内部,0571-1,Zhang#Office2026\n"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "users.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_file_imports_every_user_with_roles(demo: Any, tmp_path: Path, capsys: Any) -> None:
    text = HEADER + GOOD + "lisi,李四,浙江省人民政府/浙江省财政厅/预算处,处长,department_head;reviewer,1,,\n"
    call_command("import_users", str(_write(tmp_path, text)))
    assert "已导入 2 个用户" in capsys.readouterr().out
    lisi = User.objects.get(username="lisi")
    assert lisi.department is not None and lisi.department.name == "预算处"
    assert lisi.role_codes() == {"department_head", "reviewer"}
    assert not lisi.has_usable_password()
    assert User.objects.get(username="zhangsan").check_password("Zhang#Office2026")


def test_bad_rows_are_all_reported_and_nothing_is_imported(demo: Any, tmp_path: Path, capsys: Any) -> None:
    before = User.objects.count()
    text = (
        HEADER
        + GOOD  # line 2: fine
        + "wangfang,重名,浙江省人民政府/浙江省人民政府办公厅/秘书处,,,,,\n"  # line 3: username taken
        + "newbie,新人,浙江省人民政府/不存在的厅,,,,,\n"  # line 4: unknown department
        + "other,某人,浙江省人民政府/浙江省财政厅,,魔法师,9,,\n"  # line 5: unknown role and clearance
        + "weak,弱密码,浙江省人民政府/浙江省财政厅,,,,,123\n"  # line 6: password too weak
        + ",,,,,,,\n"  # line 7: required fields empty
    )
    with pytest.raises(CommandError, match="5 行有误，未导入任何用户"):
        call_command("import_users", str(_write(tmp_path, text)))
    err = capsys.readouterr().err
    assert "第 3 行：用户名 wangfang 已存在" in err
    assert "第 4 行：部门不存在：浙江省人民政府/不存在的厅" in err
    assert "第 5 行" in err and "未知角色：魔法师" in err and "未知涉密等级：9" in err
    assert "第 6 行：密码不符合要求" in err
    assert "第 7 行：username 不能为空" in err
    assert "第 2 行" not in err
    assert User.objects.count() == before
    assert not User.objects.filter(username="zhangsan").exists()


def test_duplicate_usernames_within_the_file_are_caught(demo: Any, tmp_path: Path, capsys: Any) -> None:
    with pytest.raises(CommandError):
        call_command("import_users", str(_write(tmp_path, HEADER + GOOD + GOOD)))
    assert "第 3 行：用户名 zhangsan 与第 2 行重复" in capsys.readouterr().err


def test_missing_columns_are_reported_on_the_header_line(demo: Any, tmp_path: Path, capsys: Any) -> None:
    with pytest.raises(CommandError):
        call_command("import_users", str(_write(tmp_path, "username,full_name\nx,y\n")))
    assert "第 1 行：缺少必填列：department" in capsys.readouterr().err
