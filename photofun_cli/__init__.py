"""``photofun``: the command-line client of the public ConversationService API."""
