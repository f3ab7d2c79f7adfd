"""2D teachers: vision-language models (real or simulated) that predict parts on rendered views."""
