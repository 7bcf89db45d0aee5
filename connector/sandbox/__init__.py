"""Local stand-ins for a Shopify and a WooCommerce shop, for the demo, the tests and the benchmarks."""
