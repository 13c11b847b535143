; virtio-net: print the MAC from the device configuration, post one receive
; buffer, send one broadcast frame (ethertype 0x88b5) through the tap, then
; wait for a frame from the host and print its payload.
%include "virtio.inc"

RXRING  equ 0x20000
TXRING  equ 0x21000
RXBUF   equ 0x40000
TXBUF   equ 0x50000
HDRLEN  equ 12

start:
    mov ebx, 0x10411af4
    call pci_find
    cmp eax, -1
    jne .found
    mov esi, s_nodev
    jmp fail
.found:
    mov edx, (1 << 5)           ; VIRTIO_NET_F_MAC
    call vio_open
    xor eax, eax
    mov ebx, RXRING
    call vio_queue
    mov eax, 1
    mov ebx, TXRING
    call vio_queue
    call vio_driver_ok

    ; the MAC, also the frame's source
    mov esi, s_mac
    call puts
    xor ebx, ebx
.mac:
    mov al, [edi + BAR_DEVCFG + ebx]
    mov [TXBUF + HDRLEN + 6 + ebx], al
    movzx eax, al
    mov ecx, 2
    call puthex
    inc ebx
    cmp ebx, 6
    jb .mac
    mov al, 10
    call putc

    ; one receive buffer
    mov ebx, RXRING
    mov eax, RXBUF
    mov edx, 2048
    mov esi, 2
    xor ecx, ecx
    call vio_desc
    xor eax, eax
    xor ecx, ecx
    call vio_offer

    ; the frame: zero virtio_net_hdr, broadcast, our MAC, 0x88b5, text
    mov dword [TXBUF + HDRLEN], 0xffffffff
    mov word [TXBUF + HDRLEN + 4], 0xffff
    mov word [TXBUF + HDRLEN + 12], 0xb588
    mov esi, tx_text
    mov edi, TXBUF + HDRLEN + 14
    mov ecx, 46
    rep movsb
    mov ebx, 0x10411af4
    call pci_find
    mov ebx, 0x10
    call pci_read
    and eax, 0xfffffff0
    mov edi, eax
    mov ebx, TXRING
    mov eax, TXBUF
    mov edx, HDRLEN + 60
    xor esi, esi
    xor ecx, ecx
    call vio_desc
    mov eax, 1
    xor ecx, ecx
    call vio_offer
    mov ecx, 1
    call vio_wait
    mov esi, s_tx_ok
    call puts

    ; wait for the host's frame
    mov esi, s_rx_ready
    call puts
    mov ebx, RXRING
    mov ecx, 1
.rxwait:
    call vio_wait
    cmp word [RXBUF + HDRLEN + 12], 0xb588
    je .rxok
    ; something else (the host's own traffic): give the buffer back
    cmp ecx, 16
    je .rxfail
    push ecx
    xor eax, eax
    xor ecx, ecx
    call vio_offer
    pop ecx
    inc ecx
    jmp .rxwait
.rxfail:
    mov esi, s_rxfail
    jmp fail
.rxok:
    mov esi, s_rx
    call puts
    mov byte [RXBUF + HDRLEN + 14 + 32], 0
    mov esi, RXBUF + HDRLEN + 14
    call puts
    mov al, 10
    call putc
    mov esi, s_done
    call puts
    jmp poweroff

s_nodev:    db "no virtio-net device", 0
s_mac:      db "mac ", 0
s_tx_ok:    db "net tx ok", 10, 0
s_rx_ready: db "net rx ready", 10, 0
s_rx:       db "net rx ", 0
s_done:     db "net done", 10, 0
s_rxfail:   db "no 0x88b5 frame in 16 receptions", 0
tx_text:    db "NUBE-VIRTIO-NET-TX"
            times 46 - ($ - tx_text) db 0
