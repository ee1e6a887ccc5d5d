"""The live engine: band sample blocks -> epochs -> causal evidence -> stages -> events."""
