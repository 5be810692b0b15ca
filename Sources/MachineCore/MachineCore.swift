// MachineCore
