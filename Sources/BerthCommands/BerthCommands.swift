// BerthCommands
