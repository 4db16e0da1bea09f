"""Masking of personal data: one place for how a phone, a name, an ID number or an address is shown
to a reader who does not need it in full."""

from __future__ import annotations


def mask_phone(phone: str) -> str:
    """13800138000 -> 138****8000; landlines keep the area code and the last four digits."""
    digits = phone.replace("-", "")
    if len(digits) <= 4:
        return "*" * len(digits)
    head = phone.split("-")[0] if "-" in phone else digits[:3]
    return f"{head}****{digits[-4:]}"


def mask_name(name: str) -> str:
    """张三 -> 张*, 欧阳娜娜 -> 欧***: the family name alone does not identify a person."""
    return name[:1] + "*" * max(len(name) - 1, 1) if name else name


def mask_id_number(id_number: str) -> str:
    return id_number[:3] + "*" * (len(id_number) - 7) + id_number[-4:] if len(id_number) > 7 else "*" * len(id_number)


def mask_address(address: str) -> str:
    """Keep the first six characters (district and street), hide the rest."""
    return address[:6] + "****" if len(address) > 6 else "****"


def mask_recipient(address: str) -> str:
    """Where a message goes, as a log may show it: a phone as 138****8000, an e-mail as z***@qq.com."""
    local, at, domain = address.partition("@")
    if at:
        return f"{local[:1]}***@{domain}"
    return mask_phone(address)


def mask_complainant(person: dict[str, str]) -> dict[str, str]:
    maskers = {"name": mask_name, "phone": mask_phone, "id_number": mask_id_number, "address": mask_address}
    return {key: maskers[key](value) if key in maskers and value else value for key, value in person.items()}
