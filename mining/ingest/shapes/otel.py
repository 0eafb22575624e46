"""Placeholder: being written."""
class OtelGenAIShape:
    name = "otel"
    label = "OtelGenAIShape"

    def looks_like(self, value):
        return False

    def parse(self, value):
        return []


