"""The store's shop, behind one port: find a customer's recent orders, or one order.

    port.py         Order, Shipment, Customer, Contact, the `Shop` protocol, our errors
    identity.py     phones as E.164, e-mails case-folded: who an order belongs to
    http.py         what both adapters share: timeouts, a time budget, vendor errors mapped
    shopify.py      Shopify Admin GraphQL API
    woocommerce.py  WooCommerce REST API v3
    config.py       the `commerce` block of a store's configuration, and its secrets' names

Nothing here is imported on the webhook path: lookups run in jobs, and the adapters import
`requests` (and `phonenumbers`) only when first used.
"""
