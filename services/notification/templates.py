"""Message templates: which event tells whom what. Chinese text, personal data reduced to what the
recipient needs. (Per-tenant overrides and jinja2 come with the notification issue.)"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    name: str
    channel: str
    recipient_role: str
    text: str


ACKNOWLEDGEMENT = Template(
    name="acknowledgement",
    channel="sms",
    recipient_role="complainant",
    text=(
        "【消费纠纷调处】{name}您好，您的投诉已收到，受理编号{tracking_no}。"
        "我们将在7个工作日内决定是否受理，您可凭编号和手机尾号查询进度。"
    ),
)


def render(template: Template, **values: str) -> str:
    return template.text.format(**values)
