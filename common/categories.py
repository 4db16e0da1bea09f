"""Complaint categories, consumer requests and refusal grounds, as data every service reads
(intake files and decides with them, routing reads a category's flags, notification its labels).

Codes are stable identifiers stored with cases and used in statistics: rename the labels
freely, never the codes.

Categories follow the problem types the 12315 platform records for consumer complaints
(quality, after-sales, contract, price, measurement, advertising, safety, personal data ...),
plus the matters a dispute-settlement centre receives that belong to another agency
(谁主管，谁负责). Two flags feed routing:

- `safety_related`: threats to life or health start at a higher tier and are never left to
  wait in a village queue (food, drugs and medical devices, special equipment, personal safety).
- `agency`: the matter belongs to that agency (an agency type of common/reference.py) and is
  handed over to it (对接) rather than mediated as a consumer dispute; None for market-regulation
  matters.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from common import reference

__all__ = [
    "CATEGORIES",
    "FILED_REQUESTS",
    "REQUEST_CODES",
    "Category",
    "ConsumerRequest",
    "RefusalGround",
    "category",
    "consumer_request",
    "refusal_ground",
]


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    name_zh: str
    name_en: str
    safety_related: bool = False
    agency: str | None = None
    scope: str = ""  # what belongs here, for the clerk's drop-down help and for reviewers


CATEGORIES: Final[tuple[Category, ...]] = (
    Category(
        "product_quality",
        "商品质量",
        "Product quality",
        scope="defective, substandard, counterfeit or expired goods (not food or drugs)",
    ),
    Category(
        "service_quality",
        "服务质量",
        "Service quality",
        scope="services not delivered as promised: catering, beauty, repair, education, travel",
    ),
    Category(
        "after_sales",
        "售后服务",
        "After-sales service",
        scope="refused or delayed returns, repairs and 三包 warranty obligations",
    ),
    Category(
        "contract",
        "合同",
        "Contract",
        scope="breach of contract, unfair standard terms (格式条款), deposits",
    ),
    Category(
        "price",
        "价格",
        "Price",
        scope="price fraud, unmarked prices, charges above the marked or agreed price",
    ),
    Category(
        "measurement",
        "计量",
        "Measurement",
        scope="short weight or measure, tampered scales, fuel dispensers or meters",
    ),
    Category(
        "false_advertising",
        "虚假宣传",
        "False or misleading promotion",
        scope="misleading claims at the point of sale, fake sales figures or reviews",
    ),
    Category(
        "advertising",
        "广告",
        "Advertising",
        scope="unlawful advertisements in media, leaflets or online ads",
    ),
    Category(
        "food_safety",
        "食品安全",
        "Food safety",
        safety_related=True,
        scope="unsafe, contaminated or spoiled food; food poisoning; unlicensed food business",
    ),
    Category(
        "drug_medical_device",
        "药品医疗器械",
        "Drugs and medical devices",
        safety_related=True,
        scope="drugs, medical devices and cosmetics that are unsafe or not as labelled",
    ),
    Category(
        "special_equipment",
        "特种设备",
        "Special equipment",
        safety_related=True,
        scope="lifts, gas cylinders, boilers, pressure vessels, amusement rides",
    ),
    Category(
        "personal_safety",
        "人身财产安全",
        "Personal and property safety",
        safety_related=True,
        scope="injury or danger caused by goods or services (exploding batteries, unsafe premises)",
    ),
    Category(
        "online_shopping",
        "网络购物",
        "Online shopping",
        scope="goods or services bought on an e-commerce platform or live stream",
    ),
    Category(
        "prepaid_card",
        "预付卡",
        "Prepaid card",
        scope="single-purpose prepaid cards and memberships: refunds, closed shops (跑路)",
    ),
    Category(
        "personal_information",
        "消费者个人信息",
        "Consumers' personal information",
        scope="personal data collected, leaked or misused by a business; unsolicited marketing",
    ),
    Category(
        "labour_dispute",
        "劳动争议",
        "Labour dispute",
        agency=reference.AGENCY_LABOUR_ARBITRATION,
        scope="unpaid wages, dismissal, social insurance: not a consumer dispute",
    ),
    Category(
        "public_order",
        "治安纠纷",
        "Public order",
        agency=reference.AGENCY_POLICE,
        scope="fights, threats, harassment arising around a purchase",
    ),
    Category(
        "fraud_extortion",
        "诈骗、敲诈勒索",
        "Fraud or extortion",
        agency=reference.AGENCY_POLICE,
        scope="telecom or online fraud; extortion of a business under cover of a complaint (Art 42)",
    ),
    Category(
        "other",
        "其他",
        "Other",
        scope="anything that fits no category above; say what in the summary",
    ),
)

_BY_CODE: Final = MappingProxyType({c.code: c for c in CATEGORIES})


def category(code: str) -> Category:
    """Return the category with this code; KeyError names the unknown code."""
    try:
        return _BY_CODE[code]
    except KeyError:
        raise KeyError(f"unknown complaint category {code!r}; known: {', '.join(_BY_CODE)}") from None


class ConsumerRequest(StrEnum):
    """What the consumer asks of the business (投诉请求)."""

    REFUND = "refund"
    EXCHANGE = "exchange"
    REPAIR = "repair"
    COMPENSATION = "compensation"
    APOLOGY = "apology"
    OTHER = "other"

    @property
    def label_zh(self) -> str:
        return _REQUEST_LABELS[self]


_REQUEST_LABELS: Final = MappingProxyType(
    {
        ConsumerRequest.REFUND: "退款",
        ConsumerRequest.EXCHANGE: "换货",
        ConsumerRequest.REPAIR: "维修",
        ConsumerRequest.COMPENSATION: "赔偿",
        ConsumerRequest.APOLOGY: "赔礼道歉",
        ConsumerRequest.OTHER: "其他",
    }
)


# every request code (an agreement term's kind names one); a complaint, and a business's offer in the
# settle-first lane, name those but `other` (what else is asked goes in the request details)
REQUEST_CODES: Final = tuple(r.value for r in ConsumerRequest)
FILED_REQUESTS: Final = tuple(r.value for r in ConsumerRequest if r is not ConsumerRequest.OTHER)


def consumer_request(code: str) -> ConsumerRequest:
    """Return the request with this code; KeyError (like `category`) for an unknown one."""
    try:
        return ConsumerRequest(code)
    except ValueError:
        raise KeyError(f"unknown consumer request {code!r}; known: {', '.join(ConsumerRequest)}") from None


class RefusalGround(StrEnum):
    """Legal grounds for refusing a complaint (不予受理, Art 16 of SAMR Order No. 121)."""

    NOT_WITHIN_REMIT = "not_within_remit"
    ALREADY_HANDLED = "already_handled"
    NOT_CONSUMER_DISPUTE = "not_consumer_dispute"
    TIME_BARRED = "time_barred"
    MATERIAL_MISSING_OR_FALSE = "material_missing_or_false"
    IDENTITY_NOT_VERIFIED = "identity_not_verified"
    OTHER_LEGAL_GROUND = "other_legal_ground"

    @property
    def label_zh(self) -> str:
        """The reason as the refusal notice states it."""
        return _REFUSAL_LABELS[self]

    @property
    def other_routes_zh(self) -> str:
        """Default text for the routes still open to the consumer; a clerk may edit it per case."""
        return _OTHER_ROUTES[self]


_REFUSAL_LABELS: Final = MappingProxyType(
    {
        RefusalGround.NOT_WITHIN_REMIT: "不属于本部门职责范围",
        RefusalGround.ALREADY_HANDLED: (
            "人民法院、仲裁机构、其他行政机关、消费者协会或者依法成立的其他调解组织已经受理或者处理过同一争议"
        ),
        RefusalGround.NOT_CONSUMER_DISPUTE: (
            "不是为生活消费需要购买、使用商品或者接受服务，或者不能证明与被投诉人之间存在消费者权益争议"
        ),
        RefusalGround.TIME_BARRED: "自知道或者应当知道权益受到侵害之日起超过三年",
        RefusalGround.MATERIAL_MISSING_OR_FALSE: "未提供规定的投诉材料，或者提供的材料不真实",
        RefusalGround.IDENTITY_NOT_VERIFIED: "冒用他人身份投诉，或者拒绝配合身份核实",
        RefusalGround.OTHER_LEGAL_GROUND: "法律、法规、规章规定不予受理的其他情形",
    }
)

# The routes of the Consumer Rights Protection Law, Art 39 (协商和解, 调解, 投诉, 仲裁, 诉讼),
# narrowed to those still open under each ground, so the notice tells the consumer where to go.
_GENERAL_ROUTES: Final = (
    "您可以与经营者协商和解，请求消费者协会或者依法成立的其他调解组织调解，"
    "根据与经营者达成的仲裁协议提请仲裁机构仲裁，或者向人民法院提起诉讼。"
)
_OTHER_ROUTES: Final = MappingProxyType(
    {
        RefusalGround.NOT_WITHIN_REMIT: "您可以向对该事项有处理权限的行政部门反映；" + _GENERAL_ROUTES,
        RefusalGround.ALREADY_HANDLED: (
            "请向已经受理该争议的人民法院、仲裁机构、行政机关或者调解组织了解办理情况；"
            "对其处理结果有异议的，可以依法提请仲裁或者向人民法院提起诉讼。"
        ),
        RefusalGround.NOT_CONSUMER_DISPUTE: (
            "您可以与对方协商解决，根据仲裁协议提请仲裁机构仲裁，或者向人民法院提起诉讼；"
            "发现经营者涉嫌违法的，可以通过举报渠道反映线索。"
        ),
        RefusalGround.TIME_BARRED: (
            "您仍可以与经营者协商和解，或者向人民法院提起诉讼（时效问题由人民法院依法认定）；"
            "发现经营者涉嫌违法的，可以通过举报渠道反映线索。"
        ),
        RefusalGround.MATERIAL_MISSING_OR_FALSE: (
            "请补充或者更正投诉人和被投诉人的基本信息、具体投诉请求和争议事实等材料后重新投诉；" + _GENERAL_ROUTES
        ),
        RefusalGround.IDENTITY_NOT_VERIFIED: "请以本人真实身份重新投诉并配合身份核实；" + _GENERAL_ROUTES,
        RefusalGround.OTHER_LEGAL_GROUND: _GENERAL_ROUTES,
    }
)


def refusal_ground(code: str) -> RefusalGround:
    """Return the refusal ground with this code; KeyError (like `category`) for an unknown one."""
    try:
        return RefusalGround(code)
    except ValueError:
        raise KeyError(f"unknown refusal ground {code!r}; known: {', '.join(RefusalGround)}") from None
