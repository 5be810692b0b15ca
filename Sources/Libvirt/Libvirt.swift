// Libvirt
