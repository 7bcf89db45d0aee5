"""ordercare: keeps a web shop's delivery promise across Shopify and WooCommerce."""

__version__ = "0.1.0"
