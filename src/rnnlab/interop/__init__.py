"""Moving layers and weights between rnnlab and other libraries (imported only when used)."""
