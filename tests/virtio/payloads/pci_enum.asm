; PCI enumeration the way Linux's pci=conf1 probe and a bus scan do it: check
; the configuration address latch, then list every device on bus 0 as
; "pci SS VVVV:DDDD CCCCCC" with, for virtio devices, the virtio structure
; types found by walking the capability list ("cfg 1 2 3 4 5").
%include "virtio.inc"

start:
    ; Linux's type-1 probe: a byte to 0xCFB, then the latch must read back
    mov dx, 0xcfb
    mov al, 1
    out dx, al
    mov dx, 0xcf8
    mov eax, 0x80000000
    out dx, eax
    in eax, dx
    cmp eax, 0x80000000
    je .scan
    mov esi, s_latch
    jmp fail
.scan:
    xor ecx, ecx                ; slot
.slot:
    mov eax, ecx
    xor ebx, ebx
    call pci_read
    cmp eax, 0xffffffff
    je .next
    mov edx, eax                ; vendor | device << 16
    mov esi, s_pci
    call puts
    push ecx
    mov eax, ecx
    mov ecx, 2
    call puthex
    mov al, ' '
    call putc
    mov eax, edx
    mov ecx, 4
    call puthex
    mov al, ':'
    call putc
    mov eax, edx
    shr eax, 16
    call puthex
    mov al, ' '
    call putc
    pop ecx
    mov eax, ecx
    mov ebx, 0x08
    call pci_read
    shr eax, 8
    push ecx
    mov ecx, 6
    call puthex
    pop ecx
    cmp dx, 0x1af4
    jne .eol
    ; walk the capability list (at most 48 steps)
    mov esi, s_cfg
    call puts
    mov eax, ecx
    mov ebx, 0x34
    call pci_read
    and eax, 0xfc
    mov ebx, eax                ; capability pointer
    mov ebp, 48
.cap:
    test ebx, ebx
    jz .eol
    dec ebp
    jz .eol
    mov eax, ecx
    call pci_read               ; id, next, len, cfg_type
    mov edx, eax
    cmp dl, 0x09
    jne .capnext
    mov al, ' '
    call putc
    mov eax, edx
    shr eax, 24
    push ecx
    mov ecx, 1
    call puthex
    pop ecx
.capnext:
    movzx ebx, dh
    and ebx, 0xfc
    jmp .cap
.eol:
    mov al, 10
    call putc
.next:
    inc ecx
    cmp ecx, 32
    jb .slot
    mov esi, s_done
    call puts
    jmp poweroff

s_latch: db "configuration latch does not read back", 0
s_pci:   db "pci ", 0
s_cfg:   db " cfg", 0
s_done:  db "enumeration done", 10, 0
