"""Reconciliation: what was logged against what the provider billed, explained request by request. Pure.

    statement.parse_statement(raw_text)      a manual paste → nanos, or a StatementError saying why not
    (adapters.billing: OpenAICosts / AnthropicCosts, the billing APIs over HTTP → daily buckets, DayBill)
    exports.parse_export(provider, file)      a Gemini or xAI billing export, streamed → the same daily buckets
    limits.BillingLimits / HttpPolicy         the bounds on exports and answers, and how the clients use HTTP
    sources.choose_bill(statements, pulled)   the bill that counts for a month (the latest readable word)
    compute.reconcile(provider, period, requests, bill, rates, notice)
                                              → Reconciliation: figures, band, days, findings
"""
