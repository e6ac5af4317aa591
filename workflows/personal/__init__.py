"""What a person sets for themselves: leave substitutes, how they are told, their language."""
