"""Placeholder: being written."""
class LangfuseObservationShape:
    name = "langfuse"
    label = "LangfuseObservationShape"

    def looks_like(self, value):
        return False

    def parse(self, value):
        return []


class LangfuseScoreShape:
    name = "langfuse"
    label = "LangfuseScoreShape"

    def looks_like(self, value):
        return False

    def parse(self, value):
        return []


