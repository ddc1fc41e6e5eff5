"""The knowledge base: Acme Outfitters' correct support policy, for the demo judge.

When the judge grades a production trace there is no reference answer; it looks
the question up here instead (same matching as the bot, see
:mod:`evallock.demo._policy`) and grades the answer against the correct policy.
That is what lets drift detection notice a regressed prompt: an answer that
contradicts this policy scores low.

General lines come first, so a question that names no contract falls on them;
the enterprise lines carry ``contract`` and ``enterprise`` keywords and win
when the question mentions either. The texts are those of the good prompt
(``example/prompts/support-v3.txt``) plus the two consumer answers that only
``support-v4.txt`` knows; a test keeps them in step.
"""

from __future__ import annotations

from evallock.demo._policy import best_line, parse_policy

__all__ = ["KNOWLEDGE_BASE", "knowledge_answer"]

KNOWLEDGE_BASE = """\
- [charged twice, double charged, billed twice, duplicate] Duplicate charges are refunded \
automatically within 5 business days.
- [refund, return, money back, send back] You can return any item within 30 days of delivery \
for a full refund.
- [refund take, refund to arrive, card, bank] Once a return is approved, the refund reaches \
your card within 5 to 10 business days.
- [ebook, e book, digital, downloaded] Digital purchases can be refunded within 14 days if \
they have not been downloaded.
- [update card, payment method, change card, credit card, expired] You can update your \
payment method under Account > Billing.
- [receipt, receipts, invoice] Receipts are emailed after every purchase and are also \
available under Account > Orders.
- [currency, euros, pounds, pay in] We bill in US dollars; your bank converts other currencies.
- [how long, shipping, delivery, arrive, arrives, ship] Standard shipping takes 3 to 5 \
business days; express shipping takes 1 to 2.
- [track, tracking, where is my order, where is] You can track your order with the link in \
your shipping confirmation email.
- [international, abroad, overseas, other countries, ship to] We ship to 40 countries; \
international delivery takes 7 to 14 business days.
- [password, reset, log in, login, locked out] Reset your password with the "Forgot password" \
link on the sign-in page.
- [delete, close my account, delete my account] You can delete your account under \
Account > Privacy; this cannot be undone.
- [change address, delivery address, change my address, wrong address] You can change the \
delivery address until the order ships, under Orders > Edit address.
- [pause, pause my subscription, skip a month, subscription] You can pause your subscription \
for up to 3 months under Account > Subscription.
- [contract, enterprise, invoiced twice, billed twice, charged twice, duplicate] Duplicate \
charges on enterprise contracts are refunded within 5 business days to the original payment \
method; no action is needed on your side.
- [cancel, mid term, terminate, contract refund] Enterprise contracts cancelled mid-term are \
refunded pro rata for the unused months within 5 business days.
- [seats, add seats, licenses, new hires] Enterprise admins can add seats at any time in the \
admin console; new seats are billed pro rata on the next invoice.
- [sla, uptime, outage, outages, response time] Enterprise support has a 1-hour response-time \
SLA, 24/7, for priority-1 issues.
- [invoices, download, download invoices, invoice history] Enterprise invoices can be \
downloaded from the admin console under Billing > Invoices.
- [priority support, phone support, phone, call] Pro and Enterprise customers can reach \
priority phone support at any time from the Help menu.
"""
"""The correct policy, in the bot's policy-line format."""


def knowledge_answer(question: str) -> str | None:
    """The correct answer to ``question`` from the knowledge base, or None when none fits.

    >>> knowledge_answer("Our contract renewal was charged twice")[:40]
    'Duplicate charges on enterprise contract'
    >>> knowledge_answer("What's the weather in Paris?") is None
    True
    """
    line = best_line(parse_policy(KNOWLEDGE_BASE).lines, question)
    return line.answer if line is not None else None
